//! Stored enums' text forms, declared once.
//!
//! Statuses, kinds and sources are kept in the database as short snake_case words. Each
//! enum states its words in one table, [`stored_names!`], which generates both directions
//! (`as_str` to store, `parse` to read back), so the two can never drift apart.

/// Implements `as_str` (the stored word) and `parse` (back from it) for an enum from one
/// table of `Variant => "word"` pairs.
#[macro_export]
macro_rules! stored_names {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        Red,
        DarkBlue,
    }

    crate::stored_names!(Colour { Red => "red", DarkBlue => "dark_blue" });

    #[test]
    fn each_word_reads_back_as_its_variant_and_nothing_else_does() {
        for colour in [Colour::Red, Colour::DarkBlue] {
            assert_eq!(Colour::parse(colour.as_str()), Some(colour));
        }
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::parse(""), None);
    }
}
