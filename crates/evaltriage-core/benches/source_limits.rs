//! Peak memory and deadlines of the sources (written below).
fn main() {}
