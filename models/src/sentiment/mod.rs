//! Comment sentiment: VADER reproduced exactly ([`vader`]), and the features and linear
//! model that replace it on creator comments ([`features`], [`linear`]).

pub mod vader;

pub use vader::{Polarity, Vader};
