"""Tests of the issue_mining pipeline."""
