"""The gold feature store: point-in-time features per loan application and their dictionary."""
