// A dynamic route for httpd: httpd VHOSTS --route /api=examples/app/route.mjs
// The default export is a fetch-style handler: a WHATWG Request in, a Response out.
export default async function handler(request, context) {
  const url = new URL(request.url);
  if (url.pathname === '/api/health') return new Response('ok\n');
  if (url.pathname === '/api/echo' && request.method === 'POST') {
    const body = await request.text(); // bounded by --route-body-limit
    return Response.json({ received: body.length, host: context.host });
  }
  if (url.pathname === '/api/about') {
    // The site's own files are there too: context.readFile reads the request's webroot.
    const page = context.readFile('/about.html');
    return page ? new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } }) : new Response('no about page\n', { status: 404 });
  }
  return new Response('not found\n', { status: 404 });
}
