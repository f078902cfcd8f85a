-- Write everything into the new file itself (no write-ahead log left beside it).
checkpoint building
