#!/usr/bin/env python3
"""Static file server for the static buildpack: serves the app dir (or static.json's "root") on $PORT.
Correct content types, 404 for what is missing, no directory listings, no dotfiles, index.html for directories;
static.json may set "root", "clean_urls" (/about -> about.html) and "error_page"."""
import http.server, json, mimetypes, os, posixpath, socketserver, sys, urllib.parse

APP = os.environ.get('HOME', '/app')
cfg = {}
try:
    with open(os.path.join(APP, 'static.json')) as f:
        cfg = json.load(f)
except (OSError, ValueError):
    pass
ROOT = os.path.realpath(os.path.join(APP, cfg.get('root', '.')))
CLEAN = bool(cfg.get('clean_urls'))
ERROR_PAGE = cfg.get('error_page')
mimetypes.add_type('application/javascript', '.mjs')
mimetypes.add_type('application/wasm', '.wasm')
mimetypes.add_type('image/svg+xml', '.svg')
mimetypes.add_type('application/manifest+json', '.webmanifest')

class Handler(http.server.BaseHTTPRequestHandler):
    server_version = 'slipway-static'
    sys_version = ''

    def resolve(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(path).split('/') if p]
        if any(p.startswith('.') for p in parts):
            return None
        full = os.path.realpath(os.path.join(ROOT, *parts))
        if full != ROOT and not full.startswith(ROOT + os.sep):
            return None
        if os.path.isdir(full):
            full = os.path.join(full, 'index.html')
        elif not os.path.exists(full) and CLEAN and os.path.isfile(full + '.html'):
            full = full + '.html'
        return full if os.path.isfile(full) else None

    def send_file(self, full, status=200):
        ctype = mimetypes.guess_type(full)[0] or 'application/octet-stream'
        if ctype.startswith('text/') or ctype in ('application/javascript', 'application/json', 'image/svg+xml'):
            ctype += '; charset=utf-8'
        size = os.path.getsize(full)
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(size))
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.end_headers()
        if self.command != 'HEAD':
            with open(full, 'rb') as f:
                while True:
                    chunk = f.read(65536)
                    if not chunk:
                        break
                    self.wfile.write(chunk)

    def not_found(self):
        page = ERROR_PAGE and os.path.realpath(os.path.join(ROOT, ERROR_PAGE))
        if page and page.startswith(ROOT + os.sep) and os.path.isfile(page):
            return self.send_file(page, 404)
        body = b'<!DOCTYPE html><title>Not Found</title><h1>404 Not Found</h1>\n'
        self.send_response(404)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_GET(self):
        full = self.resolve()
        return self.send_file(full) if full else self.not_found()

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stdout.write('%s %s\n' % (self.address_string(), fmt % args))
        sys.stdout.flush()

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

if __name__ == '__main__':
    port = int(os.environ.get('PORT', '5000'))
    print('static server on port %d serving %s' % (port, ROOT), flush=True)
    Server(('0.0.0.0', port), Handler).serve_forever()
