"""Security of the SIEM itself: certificates, users, roles, the secure node's config and the audit trail."""
