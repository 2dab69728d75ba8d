/*
 * The public development CA key of the simulator: tappd-simulator v0.1.4's
 * certs/app.key, published with the phalanetwork/tappd-simulator image (the
 * same bytes as tests/vectors/tappd-simulator-app.key; origin in
 * tests/vectors/SOURCES.md). `teeliza demo` and `teeliza start --simulator`
 * use it unless given another key, so that their wallets are the same on
 * every machine (the documented example addresses can be reproduced) and
 * equal to what Eliza gets from that image. It is public: every key derived
 * from it is known to everyone.
 */
#include "teeliza/sim/simulator.h"

const char tee_sim_dev_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgE+FtHX7frGyDu0MF\n"
	"c6HsZ7Nichmcc1gk/eQGmEXq4MyhRANCAASxhQoBeKlRAdHLJGD+z4u1lfSDNaZm\n"
	"rRK5s0KMndDwivLRUT8EIELKmYnEj+q5jZQEGAt+5B/xSh4eNECuQZnH\n"
	"-----END PRIVATE KEY-----\n";
