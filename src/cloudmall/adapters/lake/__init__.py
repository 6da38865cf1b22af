"""The data lake: Parquet files (pyarrow) and SQL over them (DuckDB)."""
