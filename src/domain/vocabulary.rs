//! The closed sets of words the API speaks (`buy`/`sell`, `pending`, `release`…): each declared
//! once, as an enum and the word of each value, so parsing, printing and the OpenAPI document's
//! `enum` lists come from the same table.

/// A closed set of words: every value, and the word of each.
pub trait Vocabulary: Copy + Eq + 'static {
    /// Every value, in the order the API lists them.
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_str() == word)
    }

    /// Every word, in order.
    fn words() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|value| value.as_str())
    }
}

/// Declares an enum whose values are words of the API: `ALL`, `as_str` and `parse` as inherent
/// items (no import needed to call them) and the [`Vocabulary`] impl.
///
/// ```ignore
/// vocabulary! {
///     /// The order seen from its taker.
///     pub enum Side { Withdraw = "withdraw", Deposit = "deposit" }
/// }
/// ```
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every value, in the order the API lists them.
            pub const ALL: &'static [$name] = &[$( $name::$variant ),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word ),+
                }
            }

            pub fn parse(word: &str) -> Option<Self> {
                match word {
                    $( $word => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl $crate::domain::vocabulary::Vocabulary for $name {
            const ALL: &'static [$name] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(word: &str) -> Option<Self> {
                $name::parse(word)
            }
        }
    };
}

pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    use super::Vocabulary;

    vocabulary! {
        /// A test set.
        enum Colour { Red = "red", DarkBlue = "dark_blue" }
    }

    #[test]
    fn every_word_parses_back_to_its_value() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(*colour));
            assert_eq!(
                <Colour as Vocabulary>::parse(colour.as_str()),
                Some(*colour)
            );
        }
        assert_eq!(Colour::words().collect::<Vec<_>>(), ["red", "dark_blue"]);
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::parse(""), None);
    }
}
