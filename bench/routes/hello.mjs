// The route of bench/app.mjs: a 13-byte text, as bare node:http answers it in peers/app-peer.mjs.
export default () => new Response('Hello, world!');
