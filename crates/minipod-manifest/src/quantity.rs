//! Kubernetes resource quantities (apimachinery `resource.ParseQuantity`), parsed into exact
//! integers: CPU in millicores and bytes, both rounded up as `MilliValue()`/`Value()` do.

/// The message `ParseQuantity` failures carry in validation errors.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    /// Parses `1`, `250m`, `0.5`, `1.5Gi`, `1e3`, `+2k`. Fails like ParseQuantity.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        if s.is_empty() {
            return Err(QUANTITY_FORMAT_ERROR.to_string());
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if bytes[0] == b'+' || bytes[0] == b'-' {
            negative = bytes[0] == b'-';
            i = 1;
        }
        let num_start = i;
        let mut mantissa: u128 = 0;
        let mut exp10: i32 = 0;
        let mut seen_dot = false;
        let mut digits = 0usize;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            if bytes[i] == b'.' {
                if seen_dot {
                    return Err(QUANTITY_FORMAT_ERROR.to_string());
                }
                seen_dot = true;
            } else {
                digits += 1;
                let d = u128::from(bytes[i] - b'0');
                match mantissa.checked_mul(10).and_then(|m| m.checked_add(d)) {
                    Some(m) if m < 1u128 << 100 => {
                        mantissa = m;
                        if seen_dot {
                            exp10 -= 1;
                        }
                    }
                    // Too many significant digits: drop the rest (they cannot change a
                    // value capped at i64 by more than rounding up one unit).
                    _ => {
                        if !seen_dot {
                            exp10 += 1;
                        }
                    }
                }
            }
            i += 1;
        }
        if digits == 0 || i == num_start {
            return Err(QUANTITY_FORMAT_ERROR.to_string());
        }
        let suffix = &s[i..];
        let (e10, e2) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            _ => {
                let rest = suffix
                    .strip_prefix('e')
                    .or_else(|| suffix.strip_prefix('E'))
                    .ok_or_else(|| QUANTITY_FORMAT_ERROR.to_string())?;
                let valid = !rest.is_empty()
                    && rest
                        .trim_start_matches(['+', '-'])
                        .bytes()
                        .all(|c| c.is_ascii_digit())
                    && rest.len() - rest.trim_start_matches(['+', '-']).len() <= 1
                    && !rest.trim_start_matches(['+', '-']).is_empty();
                if !valid {
                    return Err(QUANTITY_FORMAT_ERROR.to_string());
                }
                let e: i32 = rest
                    .parse()
                    .map_err(|_| QUANTITY_FORMAT_ERROR.to_string())?;
                if !(-1000..=1000).contains(&e) {
                    return Err(QUANTITY_FORMAT_ERROR.to_string());
                }
                (e, 0)
            }
        };
        Ok(Quantity {
            negative: negative && mantissa != 0,
            mantissa,
            exp10: exp10 + e10,
            exp2: e2,
        })
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// `value × 10^scale`, rounded up (away from zero), saturating at i64 bounds.
    fn scaled_ceil(&self, scale: i32) -> i64 {
        if self.mantissa == 0 {
            return 0;
        }
        let mut num: u128 = self.mantissa;
        let mut den: u128 = 1;
        let e = self.exp10 + scale;
        let overflow = |neg: bool| if neg { i64::MIN } else { i64::MAX };
        if e >= 0 {
            for _ in 0..e {
                num = match num.checked_mul(10) {
                    Some(n) => n,
                    None => return overflow(self.negative),
                };
            }
        } else {
            for _ in 0..(-e) {
                den = match den.checked_mul(10) {
                    Some(d) => d,
                    // The value is far below one unit: it rounds up to one.
                    None => return if self.negative { -1 } else { 1 },
                };
            }
        }
        for _ in 0..self.exp2 {
            num = match num.checked_mul(2) {
                Some(n) => n,
                None => return overflow(self.negative),
            };
        }
        let q = num / den + u128::from(num % den != 0);
        match i64::try_from(q) {
            Ok(v) if self.negative => -v,
            Ok(v) => v,
            Err(_) => overflow(self.negative),
        }
    }

    /// `Value()`: whole units (bytes, cores) rounded up.
    pub fn value(&self) -> i64 {
        self.scaled_ceil(0)
    }

    /// `MilliValue()`: thousandths (millicores) rounded up.
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(3)
    }

    /// Compares two quantities exactly enough for `requests <= limits` (milli precision, as
    /// the API server rounds every resource list to milli scale on create).
    pub fn cmp_milli(&self, other: &Quantity) -> std::cmp::Ordering {
        self.milli_value().cmp(&other.milli_value())
    }
}

#[cfg(test)]
mod tests;
