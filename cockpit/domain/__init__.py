"""Name the street's kinds of things with the codes the stores and screens share."""
