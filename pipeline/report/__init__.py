"""The analyst outputs: a shareable HTML report of a published cohort database, and one
patient's trace (`sigmd explain`). They read the database only, never the extract."""
