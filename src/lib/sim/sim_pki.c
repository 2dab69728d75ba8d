/*
 * The simulator PKI on disk: a root CA, a PCK Platform CA under it, a PCK
 * leaf under that, a TCB signing certificate under the root, and the
 * quoting enclave's attestation key. Everything is created on first use and
 * reloaded afterwards, so the root (what users pin with --trust-root) stays
 * the same across restarts.
 *
 * A missing key or certificate is (re)created together with everything it
 * issued; a file that is present but unreadable, or a certificate that does
 * not belong to its key or issuer, is an error: we never silently replace a
 * root someone may have pinned.
 */
#include "sim_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#define SIM_FILE_MAX (64 * 1024)
#define SIM_PATH_MAX 4096

static teeliza_err path_join(char out[SIM_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, SIM_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= SIM_PATH_MAX)
		return teeliza_set_error(TEELIZA_ERR_INVALID, "simulator state path too long: %s/%s", dir, name);
	return TEELIZA_OK;
}

/* mkdir -p, new components 0700. */
static teeliza_err make_dirs(const char *dir)
{
	char path[SIM_PATH_MAX];
	size_t len = strlen(dir), i;
	struct stat st;

	if (len == 0 || len >= sizeof(path))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "bad simulator state directory \"%s\"", dir);
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot create %s: %s", path, strerror(errno));
		if (i < len)
			path[i] = '/';
	}
	if (stat(dir, &st) != 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot stat %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return teeliza_set_error(TEELIZA_ERR_IO, "%s is not a directory", dir);
	return TEELIZA_OK;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static bool is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t len = 0;

	return EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1 && strcmp(group, "prime256v1") == 0;
}

static teeliza_err load_key(EVP_PKEY **out, const char *path)
{
	teeliza_buf text;
	BIO *bio;
	teeliza_err err;

	*out = NULL;
	err = teeliza_read_file(&text, path, SIM_FILE_MAX);
	if (err)
		return err;
	text.secret = true;
	bio = BIO_new_mem_buf(text.data, (int)text.len);
	if (bio != NULL)
		*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	teeliza_buf_free(&text);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: not a PEM private key", path);
	if (!is_p256(*out)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "%s: not a P-256 key", path);
	}
	return TEELIZA_OK;
}

static teeliza_err save_key(const char *path, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_secmem()); /* cleared when freed */
	char *data = NULL;
	long len;
	teeliza_err err;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot encode the key for %s", path);
	}
	err = teeliza_write_file(path, data, (size_t)len, 0600);
	BIO_free(bio);
	return err;
}

static teeliza_err load_cert(X509 **out, const char *path)
{
	teeliza_buf text;
	BIO *bio;
	teeliza_err err;

	*out = NULL;
	err = teeliza_read_file(&text, path, SIM_FILE_MAX);
	if (err)
		return err;
	bio = BIO_new_mem_buf(text.data, (int)text.len);
	if (bio != NULL)
		*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	teeliza_buf_free(&text);
	if (*out == NULL)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "%s: not a PEM certificate", path);
	return TEELIZA_OK;
}

/* The certificate as PEM text in a malloc'd NUL-terminated string. */
static teeliza_err cert_pem(char **out, X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	*out = NULL;
	if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (*out = malloc((size_t)len + 1)) == NULL) {
		BIO_free(bio);
		return teeliza_set_error(TEELIZA_ERR_CRYPTO, "cannot PEM-encode a simulator certificate");
	}
	memcpy(*out, data, (size_t)len);
	(*out)[len] = '\0';
	BIO_free(bio);
	return TEELIZA_OK;
}

static teeliza_err create_entity(sim_entity *e, const char *key_path, const char *cert_path, sim_cert_kind kind,
                                 const sim_entity *issuer)
{
	teeliza_err err = sim_gen_key(&e->key);

	if (err == TEELIZA_OK)
		err = sim_cert_issue(&e->cert, kind, e->key, issuer ? issuer->cert : NULL,
		                     issuer ? issuer->key : e->key);
	/* Key first: a crash before the certificate is written leaves a pair we recreate. */
	if (err == TEELIZA_OK)
		err = save_key(key_path, e->key);
	if (err == TEELIZA_OK) {
		err = cert_pem(&e->pem, e->cert);
		if (err == TEELIZA_OK)
			err = teeliza_write_file(cert_path, e->pem, strlen(e->pem), 0600);
	}
	return err;
}

static teeliza_err check_entity(const sim_entity *e, const char *cert_path, const sim_entity *issuer)
{
	EVP_PKEY *issuer_key = issuer ? issuer->key : e->key;

	if (X509_check_private_key(e->cert, e->key) != 1)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s does not match its private key", cert_path);
	if (X509_verify(e->cert, issuer_key) != 1)
		return teeliza_set_error(TEELIZA_ERR_VERIFY, "%s is not signed by %s", cert_path,
		                         issuer ? "its issuer's key" : "its own key");
	return TEELIZA_OK;
}

/*
 * Load one certified key, or create it when a file is missing or its issuer
 * was just created. *created tells the caller to re-issue what lies below.
 */
static teeliza_err open_entity(sim_entity *e, bool *created, const char *dir, const char *name, sim_cert_kind kind,
                               const sim_entity *issuer, bool issuer_created)
{
	char key_path[SIM_PATH_MAX], cert_path[SIM_PATH_MAX], file[64];
	teeliza_err err;

	*created = false;
	snprintf(file, sizeof(file), "%s.key", name);
	err = path_join(key_path, dir, file);
	if (err)
		return err;
	snprintf(file, sizeof(file), "%s.pem", name);
	err = path_join(cert_path, dir, file);
	if (err)
		return err;
	if (issuer_created || !file_exists(key_path) || !file_exists(cert_path)) {
		*created = true;
		return create_entity(e, key_path, cert_path, kind, issuer);
	}
	err = load_key(&e->key, key_path);
	if (err == TEELIZA_OK)
		err = load_cert(&e->cert, cert_path);
	if (err == TEELIZA_OK)
		err = check_entity(e, cert_path, issuer);
	if (err == TEELIZA_OK)
		err = cert_pem(&e->pem, e->cert);
	return err;
}

static teeliza_err open_attestation_key(sim_entity *e, const char *dir)
{
	char path[SIM_PATH_MAX];
	teeliza_err err = path_join(path, dir, "sim-attestation.key");

	if (err)
		return err;
	if (file_exists(path))
		return load_key(&e->key, path);
	err = sim_gen_key(&e->key);
	if (err == TEELIZA_OK)
		err = save_key(path, e->key);
	return err;
}

/*
 * Serialise creation between processes: `teeliza simulator` starting while
 * `teeliza sim-root` runs must not mix keys and certificates of two PKIs.
 */
static teeliza_err lock_dir(int *fd, const char *dir)
{
	char path[SIM_PATH_MAX];
	teeliza_err err = path_join(path, dir, ".lock");

	*fd = -1;
	if (err)
		return err;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
			close(*fd);
			*fd = -1;
			return err;
		}
	}
	return TEELIZA_OK;
}

static void entity_free(sim_entity *e)
{
	EVP_PKEY_free(e->key);
	X509_free(e->cert);
	free(e->pem);
	memset(e, 0, sizeof(*e));
}

teeliza_err tee_sim_pki_open(tee_sim_pki **out, const char *dir)
{
	tee_sim_pki *pki;
	bool root_new, ca_new, leaf_new;
	int lock_fd;
	teeliza_err err;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	err = make_dirs(dir);
	if (err == TEELIZA_OK)
		err = lock_dir(&lock_fd, dir);
	if (err)
		return err;
	pki = calloc(1, sizeof(*pki));
	if (pki == NULL) {
		close(lock_fd);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	err = open_entity(&pki->root, &root_new, dir, "sim-root", SIM_CERT_ROOT, NULL, false);
	if (err == TEELIZA_OK)
		err = open_entity(&pki->pck_ca, &ca_new, dir, "sim-pck-ca", SIM_CERT_PCK_CA, &pki->root, root_new);
	if (err == TEELIZA_OK)
		err = open_entity(&pki->pck, &leaf_new, dir, "sim-pck", SIM_CERT_PCK, &pki->pck_ca, ca_new);
	if (err == TEELIZA_OK)
		err = open_entity(&pki->tcb, &leaf_new, dir, "sim-tcb-signing", SIM_CERT_TCB_SIGNING, &pki->root,
		                  root_new);
	if (err == TEELIZA_OK)
		err = open_attestation_key(&pki->att, dir);
	close(lock_fd); /* releases the lock: everything on disk is complete now */
	if (err == TEELIZA_OK)
		err = sim_pub_xy(pki->att_pub, pki->att.key);
	if (err == TEELIZA_OK)
		err = sim_quote_prepare(pki);
	if (err) {
		tee_sim_pki_free(pki);
		return err;
	}
	*out = pki;
	return TEELIZA_OK;
}

void tee_sim_pki_free(tee_sim_pki *pki)
{
	if (pki == NULL)
		return;
	entity_free(&pki->root);
	entity_free(&pki->pck_ca);
	entity_free(&pki->pck);
	entity_free(&pki->tcb);
	entity_free(&pki->att);
	free(pki->quote_tail);
	free(pki);
}

teeliza_err tee_sim_pki_root_pem(teeliza_buf *out, const tee_sim_pki *pki)
{
	teeliza_err err;

	assert(out != NULL && pki != NULL && pki->root.pem != NULL);
	teeliza_buf_init(out, SIM_FILE_MAX);
	err = teeliza_buf_append_str(out, pki->root.pem);
	if (err)
		teeliza_buf_free(out);
	return err;
}
