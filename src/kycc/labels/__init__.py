"""Loan outcome labels (DPD at MOB) from the loan book."""
