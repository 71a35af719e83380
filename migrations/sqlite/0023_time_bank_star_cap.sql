-- An organisation may let only volunteers holding some stars spend their savings
-- through it ("spending only from one star on"): none means anyone may.

alter table time_bank_setting
    add column min_stars_to_spend integer
        constraint time_bank_setting_min_stars_ck check (min_stars_to_spend between 1 and 5);
