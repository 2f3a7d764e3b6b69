"""Import real registers and geometry (GeoJSON buildings, 三实 resident CSVs) into the store."""
