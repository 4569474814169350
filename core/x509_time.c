/* x509_time.c: certificate time -> Unix seconds (proleptic Gregorian calendar). */
#include "core/x509_time.h"

#include "base/err.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int x509_time_to_unix(const mbedtls_x509_time *t, int64_t *out)
{
	static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (t == NULL || out == NULL)
		return TETHER_ERR_INVALID;
	if (t->year < 0 || t->year > 9999 || t->mon < 1 || t->mon > 12 || t->day < 1 ||
	    t->day > mdays[t->mon - 1] || t->hour < 0 || t->hour > 23 || t->min < 0 ||
	    t->min > 59 || t->sec < 0 || t->sec > 60)
		return TETHER_ERR_INVALID;
	*out = days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
	       t->hour * 3600 + t->min * 60 + t->sec;
	return TETHER_OK;
}
