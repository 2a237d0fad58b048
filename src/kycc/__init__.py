"""KYCC: credit-risk ML platform as a Kedro project."""

__version__ = "0.1.0"
