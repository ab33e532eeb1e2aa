// A click on a figure or on a plotted output opens the image itself, at full size.
// Sphinx already links images that have a :width: or :scale:; this links the others.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("article.bd-article img")) {
    const existing = img.closest("a");
    if (existing) {
      if (existing.classList.contains("image-reference")) existing.style.cursor = "zoom-in";
      continue;
    }
    const link = document.createElement("a");
    link.href = img.src;
    link.className = "full-size-image";
    link.title = "Open the image at full size";
    link.style.cursor = "zoom-in";
    if (img.src.startsWith("data:")) {
      // Browsers do not open data: addresses as pages; hand them a blob: address instead.
      link.addEventListener("click", (event) => {
        event.preventDefault();
        fetch(img.src).then((r) => r.blob()).then((b) => { location.href = URL.createObjectURL(b); });
      });
    }
    img.replaceWith(link);
    link.appendChild(img);
  }
});
