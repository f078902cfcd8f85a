"""sigmd: retrospective screening of lab extracts for Selective IgM deficiency."""
