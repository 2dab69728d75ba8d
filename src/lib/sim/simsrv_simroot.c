/*
 * /prpc/Tappd.SimRoot: the simulator's root CA and collateral valid around
 * now, what `teeliza sim-root` and `teeliza sim-root --collateral` print.
 * An agent whose tappd endpoint is a teeliza simulator asks for them to
 * verify its own quotes (labelled simulator-rooted, never Intel). Real tappd
 * has no such method: it answers "method Not Found", so an agent talking to
 * real hardware never gets a root this way.
 */
#include "sim/simsrv.h"

#include <time.h>

teeliza_err simsrv_sim_root(teeliza_buf *out, const simsrv_state *st)
{
	teeliza_buf root, coll;
	teeliza_err err;

	teeliza_buf_init(&coll, 0);
	err = tee_sim_pki_root_pem(&root, st->pki);
	if (err)
		return err;
	err = tee_sim_collateral_json(&coll, st->pki, (int64_t)time(NULL));
	if (!err)
		err = teeliza_buf_append_str(out, "{\"note\":\"the teeliza simulator's own root CA, NOT Intel's: quotes "
		                                  "that verify under it prove nothing about hardware\",\"root_pem\":");
	if (!err)
		err = simsrv_json_string(out, (const char *)root.data, root.len);
	if (!err)
		err = teeliza_buf_append_str(out, ",\"collateral\":");
	if (!err)
		err = teeliza_buf_append(out, coll.data, coll.len);
	if (!err)
		err = teeliza_buf_append_str(out, "}");
	teeliza_buf_free(&root);
	teeliza_buf_free(&coll);
	return err;
}
