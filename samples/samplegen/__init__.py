"""Building blocks of ``samples/make_samples.py``: sheet, drawing, truth, scan, symbols."""
