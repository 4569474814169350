/*
 * file.c: files served from a table the program fills (certificates, keys,
 * CRLs made or embedded at run time). Nothing is copied: the table borrows.
 */
#include <string.h>

#include "port/mem/mem_impl.h"

static struct mem_file *find(const char *path)
{
	unsigned i;

	for (i = 0; i < PORT_MEM_MAX_FILES; i++) {
		struct mem_file *f = &port_mem_world.files[i];

		if (f->path[0] != '\0' && strcmp(f->path, path) == 0)
			return f;
	}
	return NULL;
}

int port_mem_file_add(const char *path, const void *data, size_t len, unsigned mode)
{
	struct mem_file *f;
	unsigned i;

	if (path == NULL || path[0] == '\0' || strlen(path) >= PORT_MEM_PATH_MAX ||
	    (data == NULL && len > 0))
		return TETHER_ERR_INVALID;
	f = find(path);
	for (i = 0; f == NULL && i < PORT_MEM_MAX_FILES; i++)
		if (port_mem_world.files[i].path[0] == '\0')
			f = &port_mem_world.files[i];
	if (f == NULL)
		return TETHER_ERR_NOMEM;
	if (f->path[0] == '\0') {
		f->wbuf = NULL;
		f->wcap = 0;
	}
	memcpy(f->path, path, strlen(path) + 1);
	f->data = data;
	f->len = len;
	f->mode = mode;
	return 0;
}

int port_read_file(struct port *p, const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	const struct mem_file *f;

	(void)p;
	if (len != NULL)
		*len = 0;
	if (path == NULL || buf == NULL || len == NULL)
		return TETHER_ERR_INVALID;
	if (cap == 0)
		return TETHER_ERR_TOO_BIG;
	f = find(path);
	if (f == NULL || f->absent)
		return TETHER_ERR_FILE;
	if (f->len > cap - 1)
		return TETHER_ERR_TOO_BIG;
	memcpy(buf, f->data, f->len);
	buf[f->len] = '\0';
	*len = f->len;
	return 0;
}

int port_file_private(struct port *p, const char *path)
{
	const struct mem_file *f;

	(void)p;
	if (path == NULL)
		return TETHER_ERR_INVALID;
	f = find(path);
	if (f == NULL || f->absent)
		return TETHER_ERR_FILE;
	return (f->mode & 077u) != 0 ? TETHER_ERR_PERM : 0;
}

int port_mem_file_writable(const char *path, unsigned char *buf, size_t cap)
{
	struct mem_file *f = path != NULL ? find(path) : NULL;

	if (f == NULL || buf == NULL)
		return TETHER_ERR_INVALID;
	f->wbuf = buf;
	f->wcap = cap;
	return 0;
}

int port_write_file(struct port *p, const char *path, const void *data, size_t len, unsigned mode)
{
	struct mem_file *f = path != NULL ? find(path) : NULL;

	(void)p;
	if (f == NULL || f->wbuf == NULL || len > f->wcap || (data == NULL && len > 0))
		return TETHER_ERR_FILE;
	if (len > 0)
		memmove(f->wbuf, data, len);
	f->data = f->wbuf;
	f->len = len;
	/* A file that was renamed away is new again: it gets the mode asked for. */
	if (f->absent)
		f->mode = mode;
	f->absent = false;
	return 0;
}

/*
 * Both files must be in the table (the program declares them). The contents
 * and write buffers swap, so each path keeps a buffer for its next write;
 * from then reads as absent.
 */
int port_rename(struct port *p, const char *from, const char *to)
{
	struct mem_file *a = from != NULL ? find(from) : NULL;
	struct mem_file *b = to != NULL ? find(to) : NULL;
	struct mem_file t;

	(void)p;
	if (a == NULL || b == NULL || a->absent || a == b)
		return TETHER_ERR_FILE;
	t = *b;
	memcpy(t.path, a->path, sizeof(t.path));
	memcpy(a->path, b->path, sizeof(a->path));
	*b = *a;
	*a = t;
	a->absent = true;
	b->absent = false;
	return 0;
}
