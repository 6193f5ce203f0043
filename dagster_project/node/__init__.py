"""The embedded local OpenSearch node: artifacts from Maven Central, install, start, stop, status."""
