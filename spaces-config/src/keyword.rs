//! Closed sets of words (colors, header styles, OAuth scopes, header policies): one macro makes
//! each an enum with its wire strings, so that every set is typed and lists itself in messages.

/// Defines a keyword enum: variants with wire strings, `ALL`, `as_str`, `parse`, `expected` and
/// `Display`.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in the reference's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The word as written in the front matter.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }

            /// Reads the word (exact, case-sensitive); `None` when it is not one of [`Self::ALL`].
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($wire => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The accepted words, comma-separated, for messages.
            pub fn expected() -> String {
                [$($wire),*].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use keyword_enum;
