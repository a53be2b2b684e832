//! Fan-out benchmark (placeholder until written).

fn main() {}
