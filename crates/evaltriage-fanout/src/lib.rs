//! evaltriage-fanout (being written).
