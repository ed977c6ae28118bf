"""Writing results: tables (CSV, JSON, Excel, Parquet), and later review workbooks and marked-up PDFs."""
