//! How a Space's card looks: its gradient colors and its header style.

use crate::keyword::keyword_enum;

keyword_enum! {
    /// A card gradient color (`colorFrom`, `colorTo`).
    ///
    /// ```
    /// use spaces_config::Color;
    /// assert_eq!(Color::parse("indigo"), Some(Color::Indigo));
    /// assert_eq!(Color::parse("orange"), None);
    /// assert!(Color::expected().starts_with("red, yellow"));
    /// ```
    Color {
        /// `red`
        Red => "red",
        /// `yellow`
        Yellow => "yellow",
        /// `green`
        Green => "green",
        /// `blue`
        Blue => "blue",
        /// `indigo`
        Indigo => "indigo",
        /// `purple`
        Purple => "purple",
        /// `pink`
        Pink => "pink",
        /// `gray`
        Gray => "gray",
    }
}

keyword_enum! {
    /// The style of the Space's header (`header`).
    Header {
        /// `mini`: a small header that leaves the app the whole page.
        Mini => "mini",
        /// `default`: the full header.
        Default => "default",
    }
}
