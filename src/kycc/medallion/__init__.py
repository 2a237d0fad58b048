"""Bronze → silver transforms shared by the label store and the feature store (Ibis expressions)."""
