#include "digest.h"

#include <openssl/evp.h>
#include <string.h>

#include "compiler.h"

void digest_init(struct digest *d, enum digest_kind kind)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	SC_ASSERT(c);
	SC_ASSERT(EVP_DigestInit_ex(c, kind == DIGEST_MD5 ? EVP_md5() : EVP_sha256(), NULL) == 1);
	d->ctx = c;
}

void digest_update(struct digest *d, const void *p, size_t n)
{
	SC_ASSERT(d->ctx);
	if (n)
		SC_ASSERT(EVP_DigestUpdate(d->ctx, p, n) == 1);
}

void digest_final_hex(struct digest *d, char *ret_hex)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	SC_ASSERT(d->ctx);
	SC_ASSERT(EVP_DigestFinal_ex(d->ctx, md, &n) == 1);
	for (unsigned int i = 0; i < n; i++) {
		ret_hex[2 * i] = hexd[md[i] >> 4];
		ret_hex[2 * i + 1] = hexd[md[i] & 15];
	}
	ret_hex[2 * n] = '\0';
	digest_release(d);
}

void digest_release(struct digest *d)
{
	if (!d || !d->ctx)
		return;
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}

void sha256_hex(const void *p, size_t n, char ret_hex[DIGEST_SHA256_HEX])
{
	struct digest d;

	digest_init(&d, DIGEST_SHA256);
	digest_update(&d, p, n);
	digest_final_hex(&d, ret_hex);
}

void sha256_base64(const void *p, size_t n, char ret_b64[45])
{
	unsigned char md[32];
	unsigned int len = 0;

	SC_ASSERT(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1);
	EVP_EncodeBlock((unsigned char *)ret_b64, md, 32);
}
