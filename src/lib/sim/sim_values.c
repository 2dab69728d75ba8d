/*
 * The fixed values of the simulated platform. They are chosen to be
 * recognisable at a glance (ASCII text where Intel has hashes) while keeping
 * every structural rule a DCAP verifier applies: the PCK TCB, tee_tcb_svn,
 * QE report and the collateral below agree, so a verifier that trusts the
 * simulator root gets "UpToDate".
 */
#include "sim_internal.h"

/* FMSPC and PCE ID the brief fixes: "00AA5E1EE700" and "0000". */
const uint8_t sim_fmspc[6] = { 0x00, 0xAA, 0x5E, 0x1E, 0xE7, 0x00 };
const uint8_t sim_pceid[2] = { 0x00, 0x00 };

/* Distinct non-zero values in the used slots so index mix-ups show. */
const uint8_t sim_sgx_tcb_svn[SIM_TCB_COMPONENTS] = { 2, 3, 4, 5, 6, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0 };
const uint16_t sim_pcesvn = 13;

/* TDX module 1.x (major 1, minor SVN 3), "microcode" SVN 2: looks like a TDX 1.5 platform. */
const uint8_t sim_tee_tcb_svn[SIM_TCB_COMPONENTS] = { 3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

const uint8_t sim_mrseam[48] = "teeliza simulated TDX module - NOT INTEL";
const uint8_t sim_mrtd[48] = "teeliza simulated TD - not a measurement";

/* SEPT_VE_DISABLE (bit 28) set, DEBUG clear: what production TDs use. */
const uint64_t sim_td_attributes = UINT64_C(1) << 28;
/* x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM), PKRU, AMX tile cfg/data. */
const uint64_t sim_xfam = UINT64_C(0x00000000000602e7);

/* Exactly 32 characters, so no NUL: the QE "signer" says what it is. */
const uint8_t sim_qe_mrsigner[32] = "teeliza simulator QE - NOT INTEL";
const uint8_t sim_qe_mrenclave[32] = "teeliza simulated QE enclave";
/* Intel's TD QE: flags INIT | MODE64BIT | PROVISIONKEY (no DEBUG), XFRM 0xe7. */
const uint8_t sim_qe_attributes[16] = { 0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0 };
const uint32_t sim_qe_miscselect = 0;
const uint16_t sim_qe_isvprodid = 2; /* the TD QE's product id */
const uint16_t sim_qe_isvsvn = 4;
/* Intel's QE sends 0x00..0x1f as authentication data; so do we. */
const uint8_t sim_qe_auth[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

const unsigned sim_tcb_eval_number = 17;
const char sim_tcb_date[] = "2024-01-01T00:00:00Z";
