"""Index templates, ISM policies and retention: loaded from `index_templates/` and applied to the cluster."""
