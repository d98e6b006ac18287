// Marks the link to the current page and shows when the page was served.
document.addEventListener('DOMContentLoaded', () => {
  for (const a of document.querySelectorAll('a[href]')) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
  }
  const footer = document.createElement('footer');
  footer.textContent = `Loaded ${new Date().toLocaleString()} from a packed webroot.`;
  document.body.append(footer);
});
