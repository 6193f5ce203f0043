"""Sigma detection, the pure half: rule files loaded into a model and compiled to OpenSearch query DSL."""
