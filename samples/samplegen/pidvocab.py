"""What the codes on a generated P&ID look like, modelled on the real DEXPI sheets.

Unlike ``drawing.py``'s codes, these are numbered in sequence as a plant
numbers them (``AB002`` next to ``AB003``, ``F0001`` next to ``F0002``), so a
catalog always sits next to tags that differ from it in one digit. Every
maker draws from one ``random.Random`` so a seed gives the same sheet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


# ISA-5.1 function letters, and the first letter of the loop number each takes
# (the Covestro sheet writes FIC over F0001, US over U0001).
LOOP_LETTERS = ("FIC", "FI", "FT", "FQI", "PIC", "PI", "PT", "PDI", "LIC", "LI", "LT",
                "TIC", "TI", "TT", "US", "YS", "MS", "HS", "AI", "QI")
VALVE_PREFIXES = ("AB", "AB", "AB", "AA", "HV", "XV")
EQUIPMENT_PREFIXES = ("BA", "RA", "PA", "WT", "BB", "DA")
FLUIDS = ("PV", "CW", "ST", "PA", "NG", "WW")
PIPE_CLASSES = ("BR20", "CS10", "SS31", "PP16")
HEX_PREFIXES = ("TP", "SP", "IP", "CP")
HATCH_CODES = ("CB", "HT", "ET", "SC")
SHAPES = ("circle", "circle-bar", "box", "hexagon", "diamond")

#: Colours of text and lines (RGB 0..1): black and the colours real P&IDs use
#: on white. Yellow is the darker yellow of sheet 15's valve bodies; pure
#: yellow (luminance 0.89) would vanish on paper and make the truth unfair.
COLOURS = {  # multiples of 0.2 (and 0.6): 8-bit exact, so the text layer's colour reads back
    "black": (0.0, 0.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "green": (0.0, 0.6, 0.0),
    "lime": (0.0, 1.0, 0.0),
    "red": (1.0, 0.0, 0.0),
    "yellow": (0.8, 0.6, 0.0),
    "olive": (0.6, 0.6, 0.0),
    "blue": (0.0, 0.6, 0.8),
}


def colour_hex(rgb: tuple[float, float, float]) -> str:
    """``#rrggbb`` as the truth CSV writes a colour."""
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


@dataclass
class Numbering:
    """Running numbers per series, stepping by 1-3 as real plants skip a few."""

    rng: random.Random
    next: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def step(self, series: str, start: int = 1) -> int:
        n = self.next.get(series, start)
        self.next[series] = n + self.rng.choice((1, 1, 1, 2, 3))
        return n

    def unique(self, make) -> str:
        """A new code from ``make()``; codes never repeat on a sheet."""
        for _ in range(1000):
            text = make()
            if text not in self.taken:
                self.taken.add(text)
                return text
        raise RuntimeError("no unique code left")


def loop_tag(num: Numbering) -> tuple[str, str]:
    """(function letters, loop number): ``("FIC", "F0001")`` or ``("TI", "96101-01")``."""
    rng = num.rng
    letters = rng.choice(LOOP_LETTERS)
    if rng.random() < 0.6:
        first = letters[0]
        return letters, num.unique(lambda: f"{first}{num.step('loop-' + first):04d}")
    return letters, num.unique(lambda: f"961{num.step('loop-961'):02d}-{rng.randint(1, 9):02d}")


def valve_tag(num: Numbering) -> str:
    prefix = num.rng.choice(VALVE_PREFIXES)
    return num.unique(lambda: f"{prefix}{num.step('valve-' + prefix):03d}")


def line_number(num: Numbering) -> str:
    """``0100-PV-23L91491-BR20-XX`` or ``LR013.10000-80-25W9999`` (the two styles seen)."""
    rng = num.rng
    if rng.random() < 0.5:
        return num.unique(lambda: (f"0{rng.randint(1, 4)}00-{rng.choice(FLUIDS)}-23L"
                                   f"{91400 + num.step('line-L'):05d}-"
                                   f"{rng.choice(PIPE_CLASSES)}-XX"))
    return num.unique(lambda: (f"LR{num.step('line-LR'):03d}.10000-"
                               f"{rng.choice((25, 50, 80, 100))}-"
                               f"{rng.choice(('25W9999', '10HF01B1', '10CA01B1'))}"))


def hatch_tag(num: Numbering) -> str:
    rng = num.rng
    return num.unique(lambda: (f"23-{rng.choice(HATCH_CODES)}-"
                               f"{9100 + num.step('hatch'):04d}{rng.choice('ABC')}"))


def hex_tag(num: Numbering) -> str:
    prefix = num.rng.choice(HEX_PREFIXES)
    return num.unique(lambda: f"{prefix}{num.step('hex-' + prefix, 10):02d}")


def equipment_tag(num: Numbering) -> str:
    prefix = num.rng.choice(EQUIPMENT_PREFIXES)
    return num.unique(lambda: f"{prefix}{num.step('eq-' + prefix):03d}")


def drawing_number(num: Numbering, size: str) -> str:
    rng = num.rng
    return num.unique(lambda: f"UER-{rng.randint(1000000, 9999999)}-{size}")


def title_small_codes(num: Numbering, drawing_no: str) -> list[str]:
    """Codes of the title block's small print (3-5 pt): file, plant, project."""
    rng = num.rng
    return [num.unique(lambda: f"{drawing_no}.pid"),
            num.unique(lambda: f"LSPL{rng.randint(1, 9)}-V{rng.randint(100, 999)}-LA01"),
            num.unique(lambda: f"PRJ-{rng.randint(10000, 99999)}"),
            num.unique(lambda: f"WN{rng.randint(9000, 9999)}")]
