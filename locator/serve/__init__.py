"""``locate serve``: the HTTP service around the pipeline (issue 22).

``store`` keeps tokens, jobs, progress, results and verdicts in SQLite in the
data folder; ``intake`` turns an upload into a job (documents recognised by
content, the catalog checked, settings validated); ``runner`` runs jobs, each
in one worker process of the pipeline's executor (or on a Dask cluster, as
``locate batch --dask``); ``results`` turns a job's
stored hits into every download and renders page tiles for the viewer;
``metrics`` is the Prometheus side; ``app`` is the FastAPI application;
``commands`` the ``serve``, ``token`` and ``usage`` subcommands. Needs the
``serve`` extra (``pip install 'locator[serve]'``).
"""
