#![doc = include_str!("../README.md")]

pub mod enums;
pub mod events;
pub mod ids;
pub mod money;
pub mod routing;

pub use enums::*;
pub use events::{Envelope, Event, EventError};
pub use ids::*;
pub use money::{Currency, Money, MoneyError};
