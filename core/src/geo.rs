//! Distances on the WGS-84 ellipsoid, approximated by a sphere: good to well under 1 % at
//! the scale of a venue's geofence, which is all the scan path needs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WGS-84 position, as `wx.getLocation` reports it by default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatLng {
    /// Latitude in degrees, −90 to 90.
    pub lat: f64,
    /// Longitude in degrees, −180 to 180.
    pub lng: f64,
}

impl LatLng {
    /// Whether both coordinates are finite and in range.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lng.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lng)
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(&self, other: &LatLng) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_phi = (other.lat - self.lat).to_radians();
        let d_lambda = (other.lng - self.lng).to_radians();
        let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
    }
}

/// The geofence verdict on one position fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Geofence {
    /// Within the radius.
    Inside,
    /// Beyond the radius.
    Outside,
    /// The fix's accuracy is worse than the radius: it cannot tell.
    PoorFix,
}

impl Geofence {
    /// Judges a fix `distance_m` from the centre with `accuracy_m`, against `radius_m`.
    pub fn judge(distance_m: f64, accuracy_m: f64, radius_m: f64) -> Self {
        if accuracy_m > radius_m {
            Self::PoorFix
        } else if distance_m > radius_m {
            Self::Outside
        } else {
            Self::Inside
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inside => "inside",
            Self::Outside => "outside",
            Self::PoorFix => "poor_fix",
        }
    }

    /// Parses a stored verdict.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inside" => Some(Self::Inside),
            "outside" => Some(Self::Outside),
            "poor_fix" => Some(Self::PoorFix),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_two_kunming_landmarks() {
        // Green Lake Park to Kunming railway station: about 3.6 km.
        let green_lake = LatLng { lat: 25.0470, lng: 102.7040 };
        let station = LatLng { lat: 25.0190, lng: 102.7220 };
        let d = green_lake.distance_m(&station);
        assert!((3_300.0..3_700.0).contains(&d), "got {d}");
        assert_eq!(green_lake.distance_m(&green_lake), 0.0);
    }

    #[test]
    fn geofence_verdicts_on_both_sides_of_each_threshold() {
        assert_eq!(Geofence::judge(299.0, 20.0, 300.0), Geofence::Inside);
        assert_eq!(Geofence::judge(300.0, 20.0, 300.0), Geofence::Inside);
        assert_eq!(Geofence::judge(300.5, 20.0, 300.0), Geofence::Outside);
        assert_eq!(Geofence::judge(10.0, 300.0, 300.0), Geofence::Inside);
        assert_eq!(Geofence::judge(10.0, 300.5, 300.0), Geofence::PoorFix);
    }

    #[test]
    fn validity_rejects_out_of_range_and_nan() {
        assert!(LatLng { lat: 25.0, lng: 102.0 }.is_valid());
        assert!(!LatLng { lat: 91.0, lng: 0.0 }.is_valid());
        assert!(!LatLng { lat: 0.0, lng: -181.0 }.is_valid());
        assert!(!LatLng { lat: f64::NAN, lng: 0.0 }.is_valid());
    }
}
