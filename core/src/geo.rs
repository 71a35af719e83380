//! Distances on the WGS-84 ellipsoid, approximated by a sphere: good to well under 1 % at
//! the scale of a venue's geofence, which is all the scan path needs; and the way from the
//! GCJ-02 coordinates Chinese map apps (高德, 腾讯) show to the WGS-84 ones Hourmark stores
//! and phones report.

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
}

crate::stored_names!(Geofence {
    Inside => "inside",
    Outside => "outside",
    PoorFix => "poor_fix",
});

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

/// The datum coordinates are given in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Datum {
    /// WGS-84: GPS, `wx.getLocation`'s default, and what Hourmark stores.
    #[default]
    Wgs84,
    /// GCJ-02 (火星坐标): what 高德 and 腾讯 maps show in mainland China; converted to
    /// WGS-84 before it is stored. Outside China the two are the same.
    Gcj02,
}

/// Whether a point lies outside the rectangle where GCJ-02 differs from WGS-84 (the
/// published algorithm's own bounds; it is coarse, and points in it near China's borders
/// are shifted too, as every map app that uses GCJ-02 shifts them).
fn out_of_china(p: LatLng) -> bool {
    !(72.004..=137.8347).contains(&p.lng) || !(0.8293..=55.8271).contains(&p.lat)
}

/// The GCJ-02 offset (degrees of latitude, longitude) at a point: the widely published
/// algorithm ("eviltransform"), on the Krasovsky 1940 ellipsoid.
fn gcj02_offset(p: LatLng) -> (f64, f64) {
    use std::f64::consts::PI;
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let (x, y) = (p.lng - 105.0, p.lat - 35.0);
    let (x_pi, y_pi) = (x * PI, y * PI);
    let shared = 20.0 * (6.0 * x_pi).sin() + 20.0 * (2.0 * x_pi).sin();
    let mut d_lat = shared + 20.0 * y_pi.sin() + 40.0 * (y_pi / 3.0).sin();
    let mut d_lng = shared + 20.0 * x_pi.sin() + 40.0 * (x_pi / 3.0).sin();
    d_lat += 160.0 * (y_pi / 12.0).sin() + 320.0 * (y_pi / 30.0).sin();
    d_lng += 150.0 * (x_pi / 12.0).sin() + 300.0 * (x_pi / 30.0).sin();
    d_lat *= 2.0 / 3.0;
    d_lng *= 2.0 / 3.0;
    d_lat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    d_lng += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    let rad_lat = p.lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lng = (d_lng * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (d_lat, d_lng)
}

/// WGS-84 to GCJ-02; unchanged outside China.
#[must_use]
pub fn wgs84_to_gcj02(p: LatLng) -> LatLng {
    if out_of_china(p) {
        return p;
    }
    let (d_lat, d_lng) = gcj02_offset(p);
    LatLng { lat: p.lat + d_lat, lng: p.lng + d_lng }
}

/// GCJ-02 to WGS-84, to well under a metre: the forward transform has no closed inverse,
/// so the point is found by bisection (the published "exact" method); unchanged outside
/// China.
#[must_use]
pub fn gcj02_to_wgs84(gcj: LatLng) -> LatLng {
    if out_of_china(gcj) {
        return gcj;
    }
    const THRESHOLD: f64 = 1e-9;
    let (mut lo_lat, mut lo_lng) = (gcj.lat - 0.01, gcj.lng - 0.01);
    let (mut hi_lat, mut hi_lng) = (gcj.lat + 0.01, gcj.lng + 0.01);
    let mut wgs = gcj;
    for _ in 0..60 {
        wgs = LatLng { lat: (lo_lat + hi_lat) / 2.0, lng: (lo_lng + hi_lng) / 2.0 };
        let there = wgs84_to_gcj02(wgs);
        let (d_lat, d_lng) = (there.lat - gcj.lat, there.lng - gcj.lng);
        if d_lat.abs() < THRESHOLD && d_lng.abs() < THRESHOLD {
            break;
        }
        if d_lat > 0.0 {
            hi_lat = wgs.lat;
        } else {
            lo_lat = wgs.lat;
        }
        if d_lng > 0.0 {
            hi_lng = wgs.lng;
        } else {
            lo_lng = wgs.lng;
        }
    }
    wgs
}

impl Datum {
    /// `p`, given in this datum, as WGS-84.
    #[must_use]
    pub fn to_wgs84(self, p: LatLng) -> LatLng {
        match self {
            Self::Wgs84 => p,
            Self::Gcj02 => gcj02_to_wgs84(p),
        }
    }
}

#[cfg(test)]
mod datum_tests {
    use super::*;

    /// The published algorithm's own test vectors: (WGS-84, GCJ-02) for Shanghai,
    /// Shenzhen and Beijing.
    const VECTORS: [(LatLng, LatLng); 3] = [
        (LatLng { lat: 31.1774276, lng: 121.5272106 }, LatLng { lat: 31.17530398364597, lng: 121.531541859215 }),
        (LatLng { lat: 22.543847, lng: 113.912316 }, LatLng { lat: 22.540796131694766, lng: 113.9171764808363 }),
        (LatLng { lat: 39.911954, lng: 116.377817 }, LatLng { lat: 39.91334545536069, lng: 116.38404722455657 }),
    ];

    #[test]
    fn wgs84_to_gcj02_matches_the_vectors() {
        for (wgs, gcj) in VECTORS {
            let got = wgs84_to_gcj02(wgs);
            assert_eq!(format!("{:.5},{:.5}", got.lat, got.lng), format!("{:.5},{:.5}", gcj.lat, gcj.lng));
            // The offset is hundreds of metres: worth converting.
            assert!(wgs.distance_m(&gcj) > 300.0);
        }
    }

    #[test]
    fn gcj02_to_wgs84_is_within_half_a_metre() {
        for (wgs, gcj) in VECTORS {
            let got = gcj02_to_wgs84(gcj);
            let off = got.distance_m(&wgs);
            assert!(off < 0.5, "{gcj:?} → {got:?}, {off} m from {wgs:?}");
            assert_eq!(Datum::Gcj02.to_wgs84(gcj), got);
            assert_eq!(Datum::Wgs84.to_wgs84(gcj), gcj);
        }
        // Kunming, round trip.
        let kunming = LatLng { lat: 25.047, lng: 102.704 };
        assert!(gcj02_to_wgs84(wgs84_to_gcj02(kunming)).distance_m(&kunming) < 0.1);
    }

    #[test]
    fn outside_china_nothing_changes() {
        for p in [
            LatLng { lat: 48.8566, lng: 2.3522 },    // Paris
            LatLng { lat: 35.6762, lng: 139.6503 },  // Tokyo, east of the rectangle
            LatLng { lat: -33.8688, lng: 151.2093 }, // Sydney
            LatLng { lat: 0.5, lng: 103.8 },         // south of it
            LatLng { lat: 60.0, lng: 100.0 },        // north of it
        ] {
            assert_eq!(wgs84_to_gcj02(p), p);
            assert_eq!(gcj02_to_wgs84(p), p);
        }
    }
}
