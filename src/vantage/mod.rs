//! Vantage points: the network paths through which a run reaches the mirrors, each standing
//! for the users behind it (a country's ISPs through a proxy, a Tor exit, a measurement
//! probe). A vantage only decides how bytes travel; what they prove is decided, as always,
//! by the pinned keys.

pub mod globalping;
pub mod tor;
