//! Hardware flavors (`cpu-basic`, `t4-small`, ...) and what each one provides.
//!
//! Flavor ids are an enum of the ones the project knows, plus [`Flavor::Other`] for ids that a
//! server or a loaded catalog names and this build does not: such an id is kept as written, never
//! turned into a panic or silently into `cpu-basic`. Whether an id is *offered* is a question for a
//! [`Catalog`](crate::Catalog), not for this type: see [`Catalog::require_flavor`](crate::Catalog::require_flavor).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

macro_rules! flavors {
    ($($variant:ident => $wire:literal,)*) => {
        /// A hardware flavor id.
        ///
        /// ```
        /// use spaces_core::Flavor;
        /// assert_eq!("t4-small".parse::<Flavor>().unwrap(), Flavor::T4Small);
        /// let future: Flavor = "h200x8".parse().unwrap();
        /// assert!(!future.is_known());
        /// assert_eq!(future.as_str(), "h200x8");
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Flavor {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant,
            )*
            /// A flavor id this build does not know (kept as written).
            Other(OtherFlavor),
        }

        impl Flavor {
            /// Every flavor id this build knows, in catalog order.
            pub const KNOWN: &'static [Flavor] = &[$(Flavor::$variant,)*];

            /// The wire id.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Flavor::$variant => $wire,)*
                    Flavor::Other(o) => &o.0,
                }
            }

            /// Reads a wire id. Never fails: an id this build does not know becomes
            /// [`Flavor::Other`]. Check membership in a catalog where input is validated.
            pub fn from_wire(s: &str) -> Flavor {
                match s {
                    $($wire => Flavor::$variant,)*
                    other => Flavor::Other(OtherFlavor(other.to_owned())),
                }
            }
        }
    };
}

flavors! {
    CpuBasic => "cpu-basic",
    CpuUpgrade => "cpu-upgrade",
    T4Small => "t4-small",
    T4Medium => "t4-medium",
    A10gSmall => "a10g-small",
    A10gLarge => "a10g-large",
    A100Large => "a100-large",
    ZeroA10g => "zero-a10g",
    L4x1 => "l4x1",
    L4x4 => "l4x4",
    L40sx1 => "l40sx1",
    L40sx4 => "l40sx4",
    L40sx8 => "l40sx8",
    A10gLargex2 => "a10g-largex2",
    A10gLargex4 => "a10g-largex4",
    A100x4 => "a100x4",
    A100x8 => "a100x8",
}

/// A flavor id that this build does not know. Only [`Flavor::from_wire`] makes one, so an
/// `Other` never shadows a known variant.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct OtherFlavor(String);

impl Flavor {
    /// Whether this build knows the id (it may still be absent from a given catalog).
    pub fn is_known(&self) -> bool {
        !matches!(self, Flavor::Other(_))
    }

    /// The free flavor every non-static Space gets unless it asks for another.
    pub const FREE: Flavor = Flavor::CpuBasic;
}

impl FromStr for Flavor {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Flavor::from_wire(s))
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flavor({})", self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Flavor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Flavor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Flavor::from_wire(&s))
    }
}

/// A GPU model. Unknown models (from a loaded catalog) are kept as written.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum GpuModel {
    /// Nvidia T4 (16 GB).
    T4,
    /// Nvidia A10G (24 GB).
    A10G,
    /// Nvidia A100 (80 GB).
    A100,
    /// Nvidia L4 (24 GB).
    L4,
    /// Nvidia L40S (48 GB).
    L40S,
    /// Nvidia H100 (80 GB).
    H100,
    /// Another model, named as written.
    Other(String),
}

impl GpuModel {
    /// The model's name as written in catalogs (`T4`, `A10G`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            GpuModel::T4 => "T4",
            GpuModel::A10G => "A10G",
            GpuModel::A100 => "A100",
            GpuModel::L4 => "L4",
            GpuModel::L40S => "L40S",
            GpuModel::H100 => "H100",
            GpuModel::Other(s) => s,
        }
    }

    /// Reads a model name; never fails.
    pub fn from_name(s: &str) -> GpuModel {
        match s {
            "T4" => GpuModel::T4,
            "A10G" => GpuModel::A10G,
            "A100" => GpuModel::A100,
            "L4" => GpuModel::L4,
            "L40S" => GpuModel::L40S,
            "H100" => GpuModel::H100,
            other => GpuModel::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for GpuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for GpuModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for GpuModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(GpuModel::from_name(&s))
    }
}

/// The GPUs a flavor provides.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GpuSpec {
    /// The GPU model.
    pub model: GpuModel,
    /// How many GPUs (whole devices).
    pub count: u32,
    /// Memory of one GPU, in GB.
    pub memory_gb: u32,
}

/// What a hardware flavor provides and what it costs.
///
/// ```
/// use spaces_core::{Catalog, Flavor};
/// let catalog = Catalog::seed();
/// let t4 = catalog.flavor(&Flavor::T4Small).unwrap();
/// assert_eq!(t4.name, "Nvidia T4 - small");
/// assert_eq!(t4.hourly_price.to_string(), "0.06");
/// assert_eq!(t4.gpu.as_ref().unwrap().count, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HardwareSpec {
    /// The flavor id.
    pub id: Flavor,
    /// The human name (`Nvidia T4 - small`).
    pub name: String,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory, in GB.
    pub memory_gb: u32,
    /// Ephemeral (non-persistent) disk, in GB.
    pub disk_gb: u32,
    /// GPUs, or `None` on a CPU flavor.
    pub gpu: Option<GpuSpec>,
    /// Price per hour of running, in USD.
    #[cfg_attr(feature = "serde", serde(with = "rust_decimal::serde::str"))]
    pub hourly_price: Decimal,
}

impl HardwareSpec {
    /// Whether running on this flavor costs nothing.
    pub fn is_free(&self) -> bool {
        self.hourly_price.is_zero()
    }

    /// The value of the `ACCELERATOR` variable inside the Space: the flavor id on GPU flavors,
    /// `none` on CPU ones.
    pub fn accelerator(&self) -> &str {
        if self.gpu.is_some() {
            self.id.as_str()
        } else {
            "none"
        }
    }
}
