"""Tests of the issue_mining domain modules (kycc.mining)."""
