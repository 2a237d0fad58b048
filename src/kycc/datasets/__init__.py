"""The project's own Kedro datasets (used from the catalog as ``kycc.datasets.<Name>``)."""

from kycc.datasets.json_batches import JsonBatchesDataset
from kycc.datasets.partitioned_ibis import MonthlyTable, MonthPartitionedIbisDataset
from kycc.datasets.raw_csv import RawCsvDataset

__all__ = ["JsonBatchesDataset", "MonthPartitionedIbisDataset", "MonthlyTable", "RawCsvDataset"]
