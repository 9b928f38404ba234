"""Sample grids and reconstructions."""
