import { describe, expect, it } from 'vitest';
import { LazyRequest } from '../src/routes/lazy-request.js';
import { LightResponse, lightParts, RealResponse } from '../src/routes/light-response.js';

// The lightweight Request and Response of routes (routes/lazy-request.ts, light-response.ts) must behave as the
// Fetch standard's (https://fetch.spec.whatwg.org/#request-class, #response-class) for everything a handler does.
const Light = LightResponse as unknown as typeof Response;
const fieldsOf = (f: [string, string][]) => () => f;

describe('LightResponse: the parts, and everything else through a real Response', () => {
  it('a string body: status 200, text/plain;charset=UTF-8, the same text, parts kept until made real', async () => {
    const r = new Light('Hello, world!');
    expect(lightParts(r)).toEqual({ status: 200, headers: undefined, defaultType: 'text/plain;charset=UTF-8', body: 'Hello, world!' });
    expect(r.status).toBe(200);
    expect(r.ok).toBe(true);
    expect(r.statusText).toBe('');
    expect(r.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(lightParts(r)!.headers!.get('content-type')).toBe('text/plain;charset=UTF-8'); // the Headers asked for is the one written
    expect(await r.text()).toBe('Hello, world!');
    expect(r.bodyUsed).toBe(true);
    expect(lightParts(r)).toBeUndefined(); // made real: written as a real Response
    await expect(r.text()).rejects.toThrow(TypeError);
  });

  it('instanceof holds both ways, and a subclass works', () => {
    expect(new Light('x')).toBeInstanceOf(RealResponse);
    expect(new RealResponse('x')).toBeInstanceOf(Light);
    expect(({}) instanceof Light).toBe(false);
    class Mine extends Light {
      extra(): string {
        return 'mine';
      }
    }
    const m = new Mine('y', { status: 201 });
    expect(m.extra()).toBe('mine');
    expect(m.status).toBe(201);
    expect(lightParts(m)?.body).toBe('y');
    expect(Object.prototype.toString.call(new Light('x'))).toBe('[object Response]');
  });

  it('headers given are validated at construction and may be changed until the response is written', () => {
    const r = new Light('x', { status: 404, statusText: 'Nope', headers: { 'X-A': '1', 'Content-Type': 'text/html' } });
    r.headers.append('set-cookie', 'a=1');
    r.headers.append('set-cookie', 'b=2');
    const parts = lightParts(r)!;
    expect(parts.status).toBe(404);
    expect(parts.defaultType).toBeUndefined();
    expect([...parts.headers!]).toEqual([['content-type', 'text/html'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-a', '1']]);
    expect(r.statusText).toBe('Nope');
    expect(() => new Light('x', { headers: { 'x-bad': 'a\r\nInjected: yes' } })).toThrow(TypeError);
  });

  it.each([
    ['a status outside 200-599', () => new Light('x', { status: 600 }), RangeError],
    ['a body with a null-body status', () => new Light('x', { status: 204 }), TypeError],
    ['a status text with a line break', () => new Light('x', { statusText: 'a\nb' }), TypeError],
  ])('refuses %s as the real constructor does', (_name, make, type) => {
    expect(make).toThrow(type);
  });

  it('bytes are a copy taken at construction (Fetch: extract a body); no body is null', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const r = new Light(bytes);
    bytes[0] = 9;
    expect(lightParts(r)!.body).toEqual(new Uint8Array([1, 2, 3]));
    expect(lightParts(r)!.defaultType).toBeUndefined();
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(lightParts(new Light(null, { status: 204 }))).toMatchObject({ status: 204, body: null });
  });

  it('a stream, a Blob or an init that is not plain makes the real Response at once', async () => {
    const s = new Light(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('st')), c.close()) }));
    expect(lightParts(s)).toBeUndefined();
    expect(await s.text()).toBe('st');
    expect(lightParts(new Light(new Blob(['b'])))).toBeUndefined();
    expect(lightParts(new Light('x', new RealResponse('y', { status: 202 }) as unknown as ResponseInit))).toBeUndefined();
  });

  it('Response.json: the serialised value, application/json unless init says otherwise; a value JSON cannot hold throws', async () => {
    const r = Light.json({ a: [1, 'b'] }, { status: 201 });
    expect(lightParts(r)).toMatchObject({ status: 201, body: '{"a":[1,"b"]}' });
    expect(lightParts(r)!.headers!.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ a: [1, 'b'] });
    expect(lightParts(Light.json(1, { headers: { 'content-type': 'application/x' } }))!.headers!.get('content-type')).toBe('application/x');
    expect(() => Light.json(undefined)).toThrow(TypeError);
    expect(Light.redirect('http://example.com/', 302).headers.get('location')).toBe('http://example.com/');
  });

  it('clone() and body work through the real Response', async () => {
    const r = new Light('twice');
    const c = r.clone();
    expect(await c.text()).toBe('twice');
    expect(r.body).toBeInstanceOf(ReadableStream);
    expect(await new RealResponse(r.body).text()).toBe('twice');
  });
});

describe('LazyRequest: method, url, headers and body without a real Request, the rest through one', () => {
  const make = (method: string, body: string | null = null, fields: [string, string][] = [['Host', 'a.test'], ['X-Test', 'yes']]) =>
    new LazyRequest('http://a.test/x/../y?q=1', method, fieldsOf(fields), body === null ? null : new Response(body).body) as unknown as Request;

  it('normalises the URL and the method as the Fetch standard does (https://fetch.spec.whatwg.org/#concept-method-normalize)', () => {
    const r = make('get');
    expect(r.url).toBe('http://a.test/y?q=1');
    expect(r.method).toBe('GET');
    expect(make('patch').method).toBe('patch'); // only DELETE, GET, HEAD, OPTIONS, POST and PUT are upper-cased
    expect(r).toBeInstanceOf(Request);
    expect(Object.prototype.toString.call(r)).toBe('[object Request]');
  });

  it.each(['TRACE', 'connect', 'Track'])('refuses the forbidden method %s with a TypeError (a 400 at the server)', (m) => {
    expect(() => make(m)).toThrow(TypeError);
  });

  it('the fields are split only when headers are read', () => {
    let calls = 0;
    const r = new LazyRequest('http://a.test/', 'GET', () => (calls++, [['X-A', '1']]), null) as unknown as Request;
    expect(r.method).toBe('GET');
    expect(calls).toBe(0);
    expect(r.headers.get('x-a')).toBe('1');
    expect(r.headers).toBe(r.headers);
    expect(calls).toBe(1);
  });

  it('text(), json(), signal, clone() and new Request(request) work as with a real Request', async () => {
    const r = make('POST', '{"n":1}');
    const c = r.clone();
    expect(await r.json()).toEqual({ n: 1 });
    expect(r.bodyUsed).toBe(true);
    await expect(r.text()).rejects.toThrow(TypeError);
    expect(await c.text()).toBe('{"n":1}');
    expect(r.signal).toBeInstanceOf(AbortSignal);
    const copy = new Request(make('PUT', 'abc'));
    expect(copy.method).toBe('PUT');
    expect(copy.url).toBe('http://a.test/y?q=1');
    expect(copy.headers.get('x-test')).toBe('yes');
    expect(await copy.text()).toBe('abc');
  });

  it('body is the request body stream itself; a GET has none', async () => {
    expect(make('GET').body).toBeNull();
    const r = make('POST', 'streamed');
    const reader = r.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe('streamed');
  });
});
