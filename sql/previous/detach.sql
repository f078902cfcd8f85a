-- Let go of the previously published database before it is replaced.
detach previous
