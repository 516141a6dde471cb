//! Medians: the only statistic the report uses (robust to a busy machine's outliers).

pub fn median_u64(values: impl IntoIterator<Item = u64>) -> u64 {
    median_i64(values.into_iter().map(|v| v as i64)).max(0) as u64
}

pub fn median_i64(values: impl IntoIterator<Item = i64>) -> i64 {
    let mut v: Vec<i64> = values.into_iter().collect();
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

pub fn median_f64(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_u64([5, 1, 3]), 3);
        assert_eq!(median_u64([4, 1, 3, 2]), 2);
        assert_eq!(median_i64([-2, 4]), 1);
        assert_eq!(median_f64(&[0.5, 0.1, 0.3]), 0.3);
        assert_eq!(median_u64([]), 0);
    }
}
