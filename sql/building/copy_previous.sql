-- Copy the whole published database into the new file (a purge rewrites it, then replaces it).
copy from database previous to building
