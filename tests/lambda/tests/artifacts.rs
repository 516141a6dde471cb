//! The functions as deployed artifacts (being written).
